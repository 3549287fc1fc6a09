using BenchmarkDotNet.Running;

// Run all or some benchmarks, e.g.:
//   dotnet run -c Release --project benchmarks/Spiffe.Benchmarks -- --filter '*SpiffeIdParse*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
