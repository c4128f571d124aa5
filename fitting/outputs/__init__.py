"""fitting/outputs"""
