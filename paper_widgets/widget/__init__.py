"""widget"""
