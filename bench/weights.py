"""Page weights: how much a page puts in the reader's browser, in DOM elements and bytes.

A page designed for 213 sites and for the country's 10,000 must weigh about the
same at both sizes once the sites outgrow one screen (issue 25): the figure is
taken from the HTML the server sends, as the browser would build it.
"""

from html.parser import HTMLParser


class _Counter(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = 0

    def handle_starttag(self, tag, attrs):
        self.elements += 1

    def handle_startendtag(self, tag, attrs):
        self.elements += 1


def page_weight(body):
    """Return {"nodes": elements in the HTML, "bytes": its size} of a page's body (bytes)."""
    counter = _Counter()
    counter.feed(body.decode("utf-8", "replace"))
    counter.close()
    return {"nodes": counter.elements, "bytes": len(body)}
