"""The model: requirements, tags and targets, pages and files, candidates, plans, locks, wheels.

Pure data and the parsers of the specs that define it (PEP 440/508 through
``packaging``, 425/783 tags, 503/691 pages, 566 metadata, 376 RECORD, 427
wheels, 751 locks). No I/O and no event loop: everything here runs on plain
CPython and is tested there. Every other layer speaks these types.
"""
