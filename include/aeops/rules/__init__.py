"""aeops.rules"""
