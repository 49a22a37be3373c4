"""Reads a speedscope file written by `dotnet-trace convert --format speedscope` (sample profiler, every thread)."""
import json


def cpu_samples(path):
    """Yields (frame names root first, time) for every stretch a thread was running: the leaf frame is CPU_TIME (waiting
    threads end in UNMANAGED_CODE_TIME), in the file's unit (milliseconds for dotnet-trace)."""
    data = json.load(open(path))
    frames = [f["name"] for f in data["shared"]["frames"]]
    for profile in data["profiles"]:
        if profile["type"] != "evented":
            continue
        stack, last = [], None
        for event in profile["events"]:
            at = event["at"]
            if stack and last is not None and at > last and frames[stack[-1]] == "CPU_TIME":
                yield [frames[i] for i in stack], at - last
            last = at
            if event["type"] == "O":
                stack.append(event["frame"])
            elif stack:
                stack.pop()
