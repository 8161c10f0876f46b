"""seaembed.merge"""
