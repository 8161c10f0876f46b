"""seaembed.train"""
