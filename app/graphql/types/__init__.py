"""GraphQL types (objects, inputs, enums, connections), one module per noun, with their conversions
from storage values and the resolvers of their own fields (through loaders or one storage call).

May import app.graphql.context, app.storage and the domain packages; root fields live in queries/ and
mutations/, SQL in app.storage.
"""
