using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Spiffe.AspNetCore.Audit;

/// <summary>Puts <see cref="SpiffeAuditMiddleware"/> first in the pipeline, around routing, authentication and authorization.</summary>
internal sealed class SpiffeAuditStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<SpiffeAuditMiddleware>();
        next(app);
    };
}
