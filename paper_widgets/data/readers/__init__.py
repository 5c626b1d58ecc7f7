"""data/readers"""
