"""aeops.exports"""
