"""``python3 -m matrix.site``: the old address of the published site's builder (matrix/views/site/)."""
