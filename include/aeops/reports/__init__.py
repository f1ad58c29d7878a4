"""aeops.reports"""
