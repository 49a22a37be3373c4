#!/usr/bin/env python3
"""A CPU flame graph (SVG) from a speedscope file of `dotnet-trace`: only samples whose leaf is CPU_TIME (threads that
were running), stacks merged by frame name, widths by CPU time. Hover a box for its frame and share; open in a browser.
   bench/profile/flamegraph.py trace.speedscope.json out.svg [title]"""
import html, sys, zlib

from speedscope import cpu_samples

WIDTH, ROW, MIN_SHARE = 1600, 16, 0.002


def short(name):
    name = name.split("!", 1)[-1]
    return name if len(name) < 140 else name[:137] + "..."


def main():
    root = {"name": "all CPU", "value": 0.0, "children": {}}
    for names, took in cpu_samples(sys.argv[1]):
        node = root
        node["value"] += took
        for name in names[:-1]:
            name = short(name)
            node = node["children"].setdefault(name, {"name": name, "value": 0.0, "children": {}})
            node["value"] += took
    total = root["value"] or 1.0
    boxes, depth_max = [], 0

    def walk(node, x, depth):
        nonlocal depth_max
        depth_max = max(depth_max, depth)
        width = node["value"] / total * WIDTH
        boxes.append((x, depth, width, node["name"], node["value"] / total))
        child_x = x
        for child in sorted(node["children"].values(), key=lambda c: -c["value"]):
            if child["value"] / total >= MIN_SHARE:
                walk(child, child_x, depth + 1)
            child_x += child["value"] / total * WIDTH

    walk(root, 0.0, 0)
    height = (depth_max + 3) * ROW
    title = sys.argv[3] if len(sys.argv) > 3 else "CPU flame graph"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="monospace" font-size="11">',
           f'<text x="4" y="13">{html.escape(title)} (boxes under {MIN_SHARE:.1%} of CPU left out)</text>']
    for x, depth, width, name, share in boxes:
        y = height - (depth + 1) * ROW
        hue = 20 + zlib.crc32(name.encode()) % 40
        label = html.escape(name[: max(0, int(width / 7) - 1)]) if width > 30 else ""
        out.append(f'<g><title>{html.escape(name)} — {share:.1%}</title><rect x="{x:.1f}" y="{y}" width="{max(width - 0.5, 0.5):.1f}" '
                   f'height="{ROW - 1}" fill="hsl({hue},80%,60%)"/><text x="{x + 2:.1f}" y="{y + 11}">{label}</text></g>')
    out.append("</svg>")
    open(sys.argv[2], "w").write("\n".join(out))


if __name__ == "__main__":
    main()
