"""seaembed.train.losses"""
