using System.Net.Sockets;
using System.Text.RegularExpressions;
using Grpc.Core;
using Spiffe.WorkloadApi;

namespace Spiffe.Cli;

/// <summary>
/// The one place where failures become what the user reads: one line saying what went wrong and what to
/// do, never a stack trace or the runtime's own wording ("(Parameter 'x')", "Could not find file").
/// </summary>
internal static partial class ErrorMessages
{
    private const string AgentHint = "is it the socket of a SPIFFE Workload API (a SPIRE agent or spiffe dev-agent)?";

    /// <summary>The line for any failure that reached the command's top level.</summary>
    public static async Task<string> DescribeAsync(Exception exception, WorkloadApiAddress? address) =>
        exception is WorkloadApiException workloadApi
            ? OneLine(await DescribeWorkloadApiAsync(workloadApi, address).ConfigureAwait(false))
            : Describe(exception);

    private static string Describe(Exception exception) => OneLine(exception switch
    {
        CliException e => e.Message,
        SpiffeException e => e.Message,
        FormatException e => e.Message,
        ArgumentException e => WithoutParameterName(e),
        UnauthorizedAccessException e => $"permission denied: {WithoutRuntimeWording(e)}",
        IOException e => WithoutRuntimeWording(e),
        _ => $"unexpected {exception.GetType().Name}: {exception.Message} (please report this as a bug of the spiffe tool)",
    });

    /// <summary>Why a state found at the dev-agent's socket path stops it from listening there.</summary>
    public static string CannotListen(string path, UnixSocketFileState state) => state switch
    {
        UnixSocketFileState.DirectoryMissing =>
            $"the directory {Path.GetDirectoryName(path)} does not exist; create it or choose another --socket path",
        UnixSocketFileState.Listening =>
            $"another process is already listening on {path} (a second dev-agent?); stop it, or choose another --socket path",
        UnixSocketFileState.AccessDenied =>
            $"{path} is a socket this user may not connect to, so it may be in use; remove it if it is stale, or choose another --socket path",
        UnixSocketFileState.NotASocket when Directory.Exists(path) =>
            $"{path} is a directory; give the path of the socket to create in it, e.g. --socket unix://{Path.Combine(path, "agent.sock")}",
        UnixSocketFileState.NotASocket =>
            $"{path} exists and is not a socket; it was left untouched: choose another --socket path",
        _ => $"cannot listen on {path}",
    };

    /// <summary>The dev-agent could not bind its socket although the checks before passed.</summary>
    public static CliException ListenFailed(string path, Exception exception) => new(OneLine(exception switch
    {
        SocketException { SocketErrorCode: SocketError.AccessDenied } or UnauthorizedAccessException =>
            $"cannot create the socket {path}: permission denied in {Path.GetDirectoryName(path)}; choose a directory you can write to with --socket",
        SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } =>
            $"{path} was taken by another process just now; stop it or choose another --socket path",
        SocketException { SocketErrorCode: SocketError.AddressNotAvailable } =>
            $"cannot create the socket {path}: its directory does not exist or is not writable; create it or choose another --socket path",
        SocketException e => $"cannot create the socket {path}: {SocketReason(e)}; choose another --socket path",
        _ => $"cannot create the socket {path}: {Describe(exception)}; choose another --socket path",
    }), exception);

    /// <summary>Writing the SVID files into <paramref name="directory"/> failed.</summary>
    public static CliException WriteFailed(string directory, Exception exception) => new(OneLine(exception switch
    {
        UnauthorizedAccessException =>
            $"cannot write into {directory}: permission denied; choose a directory you can write to with --write, or fix its permissions",
        DirectoryNotFoundException or FileNotFoundException =>
            $"cannot create the directory {directory} (its parent does not exist or does not allow new entries); choose another --write directory",
        PathTooLongException => $"the path {directory} is too long; choose a shorter --write directory",
        IOException e when e.Message.Contains("Read-only file system", StringComparison.Ordinal) =>
            $"cannot write into {directory}: the file system is read-only; choose another --write directory",
        IOException e when e.Message.Contains("No space left", StringComparison.Ordinal) =>
            $"cannot write into {directory}: the disk is full; free some space or choose another --write directory",
        _ => $"cannot write into {directory}: {Describe(exception)}; choose another --write directory",
    }), exception);

    private static async Task<string> DescribeWorkloadApiAsync(WorkloadApiException exception, WorkloadApiAddress? address)
    {
        if (exception.InnerException is not RpcException rpc || rpc.Status.DebugException is null || address is null)
        {
            return exception.Message;
        }

        // The failure happened on this side before the server answered (grpc-dotnet puts the local exception in
        // DebugException and its chain of .NET messages in the detail). Say what it means instead.
        string operation = OperationPrefix().Match(exception.Message) is { Success: true } m ? m.Value : string.Empty;
        for (Exception? current = rpc.Status.DebugException; current is not null; current = current.InnerException)
        {
            if (current is SocketException socket)
            {
                switch (socket.SocketErrorCode)
                {
                    case SocketError.ConnectionRefused:
                        return $"{operation}cannot connect to the Workload API at {address}: connection refused ({await RefusedAsync(address).ConfigureAwait(false)})";
                    case SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown:
                        // Connected, then dropped before any HTTP/2 answer: the listener is something else.
                        return $"{operation}{address} accepted the connection but did not answer as a gRPC (HTTP/2) server; {AgentHint}";
                    default:
                        return exception.Message;
                }
            }
        }

        return $"{operation}{address} accepted the connection but did not answer as a gRPC (HTTP/2) server; {AgentHint}";
    }

    /// <summary>Explains a refused connection from what is at the path: the SDK only knows the refusal.</summary>
    private static async Task<string> RefusedAsync(WorkloadApiAddress address)
    {
        if (address.UnixSocketPath is not { } path)
        {
            return "nothing listens on that port; is the agent running?";
        }

        UnixSocketFileState state = await UnixSocketFile.InspectAsync(path, CancellationToken.None).ConfigureAwait(false);
        return state switch
        {
            UnixSocketFileState.NotASocket => $"{path} is not a socket; point --socket or SPIFFE_ENDPOINT_SOCKET at the agent's socket",
            UnixSocketFileState.Stale => $"nobody listens on {path} any more, the agent that created it has stopped; start the agent",
            _ => "is the agent running?",
        };
    }

    private static string SocketReason(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.InvalidArgument => "the path is too long for a Unix socket (at most 107 bytes)",
        _ => e.SocketErrorCode.ToString(),
    };

    // ArgumentException.Message ends with " (Parameter 'name')": the name of a .NET parameter means nothing to a user.
    private static string WithoutParameterName(ArgumentException e)
    {
        string message = e.Message;
        string suffix = $" (Parameter '{e.ParamName}')";
        return e.ParamName is not null && message.EndsWith(suffix, StringComparison.Ordinal) ? message[..^suffix.Length] : message;
    }

    // "Could not find file '/x'." and "Access to the path '/x' is denied." name a file the user never chose (a
    // temporary one) or hide the reason; callers wrap I/O in WriteFailed/ListenFailed, this is the last resort.
    private static string WithoutRuntimeWording(Exception e) => e.Message.TrimEnd('.');

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    [GeneratedRegex(@"^[A-Za-z0-9]+: ")]
    private static partial Regex OperationPrefix();
}
