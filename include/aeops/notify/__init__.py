"""aeops.notify"""
