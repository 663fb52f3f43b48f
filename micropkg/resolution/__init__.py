"""Resolution: resolvelib over an asynchronous catalog, and explanations of failures.

The provider (:mod:`.provider`) holds the packaging knowledge, the driver
(:mod:`.resolver`) bridges resolvelib's synchronous calls to the network
without JSPI, :mod:`.dead_ends` learns what cannot be satisfied, and
:mod:`.conflicts` turns a failure into a message a person can act on.
"""
