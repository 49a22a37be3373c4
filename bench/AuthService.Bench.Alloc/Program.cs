using System.Text;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;

// Where a service's managed allocations go (issue 27): reads a `dotnet-trace collect --profile gc-verbose` trace and sums
// its GC AllocationTick events (one about every 100 KB a heap allocates, naming the type of the object that crossed the
// mark) by type and by the nearest frame of each stack that is not the runtime's or the allocating collection's own.
// The figures are samples: shares are meaningful, single rows of a few ticks are not.
// Usage: AuthService.Bench.Alloc <trace.nettrace> [rows] [requests]  (requests: to print bytes per request)
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: AuthService.Bench.Alloc <trace.nettrace> [rows] [requests]");
    return 2;
}

var rows = args.Length > 1 ? int.Parse(args[1]) : 25;
long? requests = args.Length > 2 ? long.Parse(args[2]) : null;
var etlx = TraceLog.CreateFromEventPipeDataFile(args[0]);
using var log = new TraceLog(etlx);
var source = log.Events.GetSource();
var byType = new Dictionary<string, long>();
var byFrame = new Dictionary<string, long>();
var byAssembly = new Dictionary<string, long>();
var byServiceFrame = new Dictionary<string, long>();
long total = 0, ticks = 0;
source.Clr.GCAllocationTick += e =>
{
    var bytes = e.AllocationAmount64;
    total += bytes;
    ticks++;
    Add(byType, e.TypeName ?? "?", bytes);
    var frame = AllocatingFrame(e.CallStack());
    Add(byFrame, frame, bytes);
    Add(byAssembly, frame.Split('!')[0], bytes);
    Add(byServiceFrame, ServiceFrame(e.CallStack()), bytes);
};
source.Process();

var report = new StringBuilder();
report.AppendLine($"{ticks:N0} allocation ticks, {total / 1e6:F1} MB sampled" +
                  (requests is { } n and > 0 ? $", {requests:N0} requests: {total / (double)n / 1024:F1} KB per request" : ""));
Table("type", byType);
Table("allocating frame (nearest frame outside the runtime and the collections)", byFrame);
Table("assembly of that frame", byAssembly);
Table("nearest frame of the service's own code (AuthService.*), whatever allocated below it", byServiceFrame);
Console.Write(report);
return 0;

void Table(string title, Dictionary<string, long> sums)
{
    report.AppendLine().AppendLine($"| {title} | share | MB |").AppendLine("|---|---:|---:|");
    foreach (var (key, bytes) in sums.OrderByDescending(kv => kv.Value).Take(rows))
    {
        report.AppendLine($"| `{key.Replace("|", "\\|")}` | {100.0 * bytes / Math.Max(1, total):F1} % | {bytes / 1e6:F1} |");
    }
}

static void Add(Dictionary<string, long> sums, string key, long bytes) => sums[key] = sums.GetValueOrDefault(key) + bytes;

// The first frame, from the leaf, that is neither the runtime's allocation helpers nor a general-purpose container
// (List, Dictionary, StringBuilder, string) growing on someone else's behalf.
static string AllocatingFrame(TraceCallStack? stack)
{
    string? leaf = null;
    for (var frame = stack; frame is not null; frame = frame.Caller)
    {
        var method = frame.CodeAddress.FullMethodName;
        var module = frame.CodeAddress.ModuleName;
        if (string.IsNullOrEmpty(method))
        {
            continue;
        }

        var name = $"{module}!{method}";
        leaf ??= name;
        if (module is "coreclr" or "libcoreclr" || IsContainer(method))
        {
            continue;
        }

        return name;
    }

    return leaf ?? "(no stack)";
}

// The service's own frame nearest the leaf: which of its calls the bytes were spent for (a JSON writer growing under a
// webhook body counts for the body).
static string ServiceFrame(TraceCallStack? stack)
{
    for (var frame = stack; frame is not null; frame = frame.Caller)
    {
        if (frame.CodeAddress.ModuleName.StartsWith("AuthService", StringComparison.Ordinal) && !string.IsNullOrEmpty(frame.CodeAddress.FullMethodName))
        {
            return $"{frame.CodeAddress.ModuleName}!{frame.CodeAddress.FullMethodName}";
        }
    }

    return "(framework only: no AuthService frame)";
}

static bool IsContainer(string method) =>
    method.StartsWith("System.Collections.Generic.", StringComparison.Ordinal) ||
    method.StartsWith("System.Text.StringBuilder", StringComparison.Ordinal) ||
    method.StartsWith("System.String.", StringComparison.Ordinal) ||
    method.StartsWith("System.GC.", StringComparison.Ordinal) ||
    method.StartsWith("System.Buffers.", StringComparison.Ordinal) ||
    method.StartsWith("System.Runtime.CompilerServices.", StringComparison.Ordinal) ||
    method.StartsWith("System.Array.", StringComparison.Ordinal);
