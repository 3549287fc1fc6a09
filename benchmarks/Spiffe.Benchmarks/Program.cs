using BenchmarkDotNet.Running;
using Spiffe.Benchmarks;

// Run all or some benchmarks, e.g.:
//   dotnet run -c Release --project benchmarks/Spiffe.Benchmarks -- --filter '*SpiffeIdParse*'
// or the paired keep-alive check (see PairedKeepAlive):
//   dotnet run -c Release --project benchmarks/Spiffe.Benchmarks -- paired-keepalive 40
if (args is ["paired-keepalive", ..])
{
    await PairedKeepAlive.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 40);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
