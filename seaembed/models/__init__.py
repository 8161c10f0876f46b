"""seaembed.models"""
