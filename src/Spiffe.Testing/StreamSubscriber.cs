using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;

namespace Spiffe.Testing;

/// <summary>
/// One open server stream. The state writes commands under its lock, so every stream sees changes
/// in the order they were made; the stream handler is the only reader.
/// </summary>
internal sealed class StreamSubscriber(WorkloadApiMethod method)
{
    private readonly Channel<StreamCommand> _commands = Channel.CreateUnbounded<StreamCommand>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    public WorkloadApiMethod Method { get; } = method;

    public ChannelReader<StreamCommand> Commands => _commands.Reader;

    public void Send(IMessage message) => _commands.Writer.TryWrite(new StreamCommand(message, null));

    public void End(Status status)
    {
        _commands.Writer.TryWrite(new StreamCommand(null, status));
        _commands.Writer.TryComplete();
    }
}

/// <summary>Either a message to write or the status that ends the stream.</summary>
internal readonly record struct StreamCommand(IMessage? Message, Status? End);
