"""Prepare executed outputs for rendering: HTML tables become Markdown tables so the PDF keeps them."""
from html.parser import HTMLParser


class _TableParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell, self.depth = [], None, None, 0

    def handle_starttag(self, tag, attrs):
        if tag == 'table':
            self.depth += 1
        elif tag == 'tr' and self.depth == 1:
            self.row = []
        elif tag in ('td', 'th') and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ('td', 'th') and self.cell is not None:
            self.row.append(' '.join(''.join(self.cell).split()))
            self.cell = None
        elif tag == 'tr' and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag == 'table':
            self.depth -= 1

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def html_table_to_markdown(html):
    """A pipe table from the first HTML table (pandas' DataFrame HTML), or None."""
    parser = _TableParser()
    parser.feed(html)
    rows = [r for r in parser.rows if any(c for c in r)]
    if len(rows) < 2:
        return None
    width = max(len(r) for r in rows)
    rows = [r + [''] * (width - len(r)) for r in rows]
    # pandas puts the index name on a second header row with empty cells; merge it.
    if len(rows) > 2 and rows[1][0] and not any(rows[1][1:]) and not rows[0][0]:
        rows[0][0] = rows[1][0]
        del rows[1]
    esc = lambda s: s.replace('|', r'\|') or ' '
    lines = ['| ' + ' | '.join(esc(c) for c in rows[0]) + ' |',
             '|' + '|'.join('---' for _ in rows[0]) + '|']
    lines += ['| ' + ' | '.join(esc(c) for c in r) + ' |' for r in rows[1:]]
    return '\n'.join(lines)


def tables_as_markdown(nb):
    """Replace DataFrame HTML outputs by Markdown tables, in place."""
    for cell in nb.cells:
        if cell.cell_type != 'code':
            continue
        for out in cell.get('outputs', []):
            data = out.get('data', {})
            html = data.get('text/html', '')
            if '<table' in html:
                table = html_table_to_markdown(html)
                if table:
                    out['data'] = {'text/markdown': table}
    return nb
