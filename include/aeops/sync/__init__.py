"""aeops.sync"""
