using Spiffe.Cli;

return await SpiffeCli.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
