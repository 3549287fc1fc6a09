using System.Runtime.InteropServices;

namespace Spiffe.Cli.Helper;

/// <summary>Sends a named POSIX signal to a process: .NET itself can only kill (SIGKILL) a process.</summary>
internal static partial class ProcessSignals
{
    public static IReadOnlyList<string> Names { get; } = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGWINCH"];

    /// <summary>The signal's number on this OS (SIGUSR1/2 and SIGWINCH differ between Linux and macOS).</summary>
    public static bool TryGetNumber(string name, out int number)
    {
        bool mac = OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();
        number = name switch
        {
            "SIGHUP" => 1,
            "SIGINT" => 2,
            "SIGQUIT" => 3,
            "SIGUSR1" => mac ? 30 : 10,
            "SIGUSR2" => mac ? 31 : 12,
            "SIGTERM" => 15,
            "SIGWINCH" => 28,
            _ => 0,
        };
        return number != 0;
    }

    /// <summary>Sends <paramref name="name"/> to <paramref name="pid"/>.</summary>
    /// <exception cref="CliException">The signal is unknown, the platform has no signals, or the process does not exist / is not ours.</exception>
    public static void Send(int pid, string name)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new CliException($"renew_signal {name}: Windows has no signals; leave renew_signal out and let the program watch its files");
        }

        if (!TryGetNumber(name, out int number))
        {
            throw new CliException($"renew_signal {name} is not a known signal; use one of {string.Join(", ", Names)}");
        }

        if (pid <= 0)
        {
            throw new CliException($"cannot signal process id {pid}: not a process id");
        }

        if (Kill(pid, number) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new CliException(errno switch
            {
                3 => $"cannot send {name} to process {pid}: no such process (has it exited?)",
                1 => $"cannot send {name} to process {pid}: permission denied (it belongs to another user)",
                _ => $"cannot send {name} to process {pid}: error {errno}",
            });
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
