"""fitting/recordings/formats"""
