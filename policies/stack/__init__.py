"""Rules over the whole stack, across providers: data is protected (`protection`, with the
types that hold data in `stateful`), each namespace has one owner (`ownership`), and
everything is attributable to its owner (`attribution`: labels and tags).
"""
