#!/usr/bin/env python3
"""Checks what headless Chromium rendered (its --dump-dom output), with the standard library only.

  dom_check.py svg DOM            a picture: the <svg> has a <title> and a <desc> with text
  dom_check.py report DOM LABELS  a report page: every segment's name (LABELS, one a line, as
                                  segment_labels gives them) is in the page's text, in a card's
                                  heading, and the page holds at least one inline picture
Prints what it found; exits non-zero when a check fails.
"""
import sys
from html.parser import HTMLParser


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text, self.headings, self.titles, self.descs = [], [], [], [], []
        self.svgs = 0

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)
        if tag == "svg":
            self.svgs += 1

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop() == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        if not self.stack:
            return
        # The root picture's own <title>/<desc> sit right under an <svg>.
        if self.stack[-1] == "title" and len(self.stack) >= 2 and self.stack[-2] == "svg":
            self.titles.append(data.strip())
        if self.stack[-1] == "desc" and len(self.stack) >= 2 and self.stack[-2] == "svg":
            self.descs.append(data.strip())
        if "h3" in self.stack:
            self.headings.append(data.strip())


def main():
    kind, dom = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
    page = Page()
    page.feed(dom)
    if kind == "svg":
        ok = page.svgs >= 1 and any(page.titles) and any(page.descs)
        print(f"svg: {page.svgs} svg elements, title {page.titles[:1]}, desc {len(page.descs)}")
        return 0 if ok else 1
    labels = [line.rstrip("\n") for line in open(sys.argv[3], encoding="utf-8") if line.strip()]
    headings = " | ".join(page.headings)
    missing = [label for label in labels if label not in headings]
    print(f"report: {len(labels)} segment names, {len(missing)} missing from the cards; {page.svgs} pictures")
    for label in missing:
        print(f"  missing: {label}")
    return 0 if not missing and page.svgs >= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
