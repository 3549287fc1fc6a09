using Spiffe;
using Spiffe.Soak;

// Two roles in one program: the soak (default) and the measured server it starts as a child process.
if (args is [SoakServer.Role, string agent, string ownId, string clientId])
{
    return await SoakServer.RunAsync(agent, SpiffeId.Parse(ownId), SpiffeId.Parse(clientId));
}

if (args is ["--help" or "-h"])
{
    Console.WriteLine(SoakSettings.Usage);
    return 0;
}

SoakSettings settings;
try
{
    settings = SoakSettings.Parse(args);
}
catch (FormatException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(SoakSettings.Usage);
    return 2;
}

try
{
    return await new SoakRun(settings).RunAsync();
}
catch (Exception e) when (e is InvalidOperationException or TimeoutException or SpiffeException)
{
    // The soak could not run (the server or the agent did not start): no verdict.
    Console.Error.WriteLine($"error: {e}");
    return 1;
}
