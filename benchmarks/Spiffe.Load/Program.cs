using Spiffe;
using Spiffe.Load;

// Two roles in one program: the load (default) and the measured servers it starts as child processes.
if (args is [LoadServer.Role, ..])
{
    try
    {
        return await LoadServer.RunAsync(args);
    }
    catch (FormatException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        Console.Error.WriteLine(LoadServer.Usage);
        return 2;
    }
}

if (args is ["--help" or "-h"])
{
    Console.WriteLine(LoadSettings.Usage);
    return 0;
}

LoadSettings settings;
try
{
    settings = LoadSettings.Parse(args);
}
catch (FormatException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(LoadSettings.Usage);
    return 2;
}

try
{
    return await new LoadRun(settings).RunAsync();
}
catch (Exception e) when (e is InvalidOperationException or TimeoutException or SpiffeException)
{
    // The run could not start (a server or the agent did not come up): no figures.
    Console.Error.WriteLine($"error: {e}");
    return 1;
}
