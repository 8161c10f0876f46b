"""seaembed.evaluate"""
