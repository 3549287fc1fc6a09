using System.Runtime.InteropServices;
using Spiffe.Cli;

// Ctrl-C and SIGTERM cancel the running command (dev-agent and watch run until then); the command
// then stops cleanly instead of the runtime killing the process mid-write.
using var stop = new CancellationTokenSource();
void Cancel(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
return await SpiffeCli.RunAsync(args, Console.Out, Console.Error, stop.Token).ConfigureAwait(false);
