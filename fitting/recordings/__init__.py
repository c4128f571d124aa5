"""fitting/recordings"""
