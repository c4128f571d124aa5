"""fitting/protocols"""
