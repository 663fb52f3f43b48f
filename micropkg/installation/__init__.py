"""Installing a plan: download, verify, write into site-packages in one transaction, load.

Takes a :class:`~micropkg.model.plan.Plan` and its
:class:`~micropkg.index.downloads.Downloads`; never imports the resolver
(the layer test enforces it), so a lock install needs no resolution at all.
"""
