"""The Azure service clients, below the models: AI Language (language), the Azure ML endpoint (endpoint), behind one
protocol (protocol, services), with credentials from Key Vault or the environment (credentials), a spend guard
that holds across processes (spend), an answer cache (cache), the Azure ML workspace client (workspace) and their
errors (errors, which imports nothing of the project). core.models.cloud wraps them as models."""
