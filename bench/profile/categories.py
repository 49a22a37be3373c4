#!/usr/bin/env python3
"""Where a verify's service CPU goes: reads a speedscope file written by `dotnet-trace convert --format speedscope`
(sample profiler, every thread) and sorts each CPU sample (leaf frame CPU_TIME) into one category: the idle spin and
the GC when they are anywhere on the stack, else the category of the frame nearest the leaf that names one (a JSON
serializer called by the audit log counts as JSON; Npgsql called by the batch counts as Npgsql). Prints a markdown table; `--per-request N` adds µs per request when the
trace covered N requests.   bench/profile/categories.py trace.speedscope.json [--per-request N] [--seconds S]"""
import collections, sys

from speedscope import cpu_samples

# (category, substrings of a frame's name), checked in this order against the whole stack of a sample.
CATEGORIES = [
    ("thread pool: idle workers spinning", ["LowLevelLifoSemaphore"]),
    ("garbage collection", ["PollGC", "GCHeap", "gc_heap", "GarbageCollect"]),
    ("crypto (AES-GCM open, HMAC, SHA)", ["System.Security.Cryptography", "SecretBox", "TotpVerifier", "HashData"]),
    ("JSON (System.Text.Json)", ["System.Text.Json"]),
    ("logging (Serilog)", ["Serilog"]),
    ("metrics (prometheus-net)", ["Prometheus"]),
    ("authentication (API-key lookup)", ["ApiKeyAuthenticationHandler", "ApiKeyService", "Authentication.AuthenticationHandler"]),
    ("Npgsql (protocol, parameters, SQL parsing)", ["Npgsql"]),
    ("the coalescer and the batch decision", ["Coalescer", "DecideTotpBatchAsync", "ProofDecisions", "AttemptLedger", "AuditLog", "WebhookOutbox", "WebhookEvents"]),
    ("routing, binding, endpoint filters", ["Microsoft.AspNetCore.Routing", "RequestDelegateFactory", "EndpointFilter", "UserIdFilter", "RetryAfterHeaderFilter"]),
    ("the verify use case (TwoFactor, Devices, Profiles)", ["AuthService.Api!"]),
    ("Kestrel and HTTP parsing", ["Kestrel", "System.IO.Pipelines", "Microsoft.AspNetCore.Server"]),
    ("sockets and the I/O loop", ["System.Net.Sockets"]),
    ("other middleware (ASP.NET Core)", ["Microsoft.AspNetCore"]),
    ("thread pool: dispatching work items", ["PortableThreadPool", "ThreadPoolWorkQueue"]),
    ("native code without a managed frame (runtime, kernel)", []),
    ("async machinery and the rest", [""]),
]

# The root frame of every stack names the process ("Process64 dotnet (pid) Args: …AuthService.Api.dll"): never a category.
ROOT = "Process64 "

# Leaf frames of threads that wait inside a managed frame, so the sampler marks them CPU_TIME: the finalizer thread
# blocks in GC.RunFinalizers (half of a 10 s trace's samples in issue 27's second profile, on a service whose whole CPU
# was 8 s). Counted apart, not as CPU.
WAITING = ["System.GC.RunFinalizers()"]


ANYWHERE = 2  # the first two categories count wherever they are on the stack


def categorize(names):
    names = [name for name in names if not name.startswith(ROOT) and name != "CPU_TIME"]
    if not names:
        return "native code without a managed frame (runtime, kernel)"
    for category, needles in CATEGORIES[:ANYWHERE]:
        if any(needle in name for name in names for needle in needles):
            return category
    for name in reversed(names):
        for category, needles in CATEGORIES[ANYWHERE:-1]:
            if any(needle in name for needle in needles):
                return category
    return CATEGORIES[-1][0]


def main():
    path = sys.argv[1]
    per_request = float(sys.argv[sys.argv.index("--per-request") + 1]) if "--per-request" in sys.argv else None
    spent = collections.Counter()
    total = 0.0
    waiting = 0.0
    for names, took in cpu_samples(path):
        frames = [name for name in names if not name.startswith(ROOT) and name != "CPU_TIME"]
        if frames and any(frames[-1].endswith(leaf) for leaf in WAITING):
            waiting += took
            continue
        total += took
        spent[categorize(names)] += took
    scale = 1000.0  # speedscope files of dotnet-trace count milliseconds
    print(f"| where the service's CPU went | share | {'µs per request |' if per_request else ''}")
    print(f"|---|---:|{'---:|' if per_request else ''}")
    for category, _ in CATEGORIES:
        share = spent[category] / total if total else 0
        extra = f" {spent[category] * scale / per_request:.0f} |" if per_request else ""
        print(f"| {category} | {100 * share:.1f} % |{extra}")
    print(f"| **all CPU samples** | {total * scale / 1e6:.2f} s |{f' {total * scale / per_request:.0f} |' if per_request else ''}")
    print(f"\n(Not counted: {waiting * scale / 1e6:.2f} s of samples of the finalizer thread waiting for work.)")


if __name__ == "__main__":
    main()
