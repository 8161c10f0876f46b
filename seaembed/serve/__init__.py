"""seaembed.serve"""
