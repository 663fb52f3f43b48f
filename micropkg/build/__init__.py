"""Building pure-Python wheels from sdists inside the running Pyodide (PEP 517, in-process).

``sdist`` unpacks an archive under the wheel's path rules and reads its
``[build-system]``; ``extensions`` refuses a tree that needs a compiler;
``backend`` calls the hooks with the interpreter's state saved and restored;
``builder`` puts it together, with the build environment and the cache.
"""
