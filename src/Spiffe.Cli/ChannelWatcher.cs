using System.Threading.Channels;
using Spiffe.WorkloadApi;

namespace Spiffe.Cli;

/// <summary>Hands a watch's updates and errors, in order, to the command's loop (the watcher itself must return quickly).</summary>
internal sealed class ChannelWatcher<T>(ChannelWriter<object> writer) : IWorkloadApiWatcher<T>
    where T : notnull
{
    public void OnUpdate(T update) => writer.TryWrite(update);

    public void OnError(WorkloadApiException exception) => writer.TryWrite(exception);
}
