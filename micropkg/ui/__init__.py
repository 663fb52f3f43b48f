"""What people see while an install runs: console lines, page events, a notebook bar.

The hooks are :class:`micropkg.reporter.Reporter`; these are the reporters
that show something.
"""
