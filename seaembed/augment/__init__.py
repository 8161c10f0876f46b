"""seaembed.augment"""
