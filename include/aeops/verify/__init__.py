"""aeops.verify"""
