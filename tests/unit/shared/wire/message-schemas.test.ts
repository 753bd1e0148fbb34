import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kind, type TLiteral } from '@sinclair/typebox';
import { ClientMessage, MESSAGE_SCHEMAS, ServerMessage } from '../../../../shared/wire/message-schemas.js';
import { CLIENT_MESSAGE_TYPES, SERVER_MESSAGE_TYPES } from '../../../../shared/wire/messages.js';

describe('message schemas: one TypeBox schema per message', () => {
  it('the type sets and the schema table come from the ClientMessage and ServerMessage unions, whose members are TypeBox schemas', () => {
    const typesOf = (u: typeof ClientMessage | typeof ServerMessage) => u.anyOf.map((s) => (s.properties.type as TLiteral<string>).const);
    assert.deepEqual([...CLIENT_MESSAGE_TYPES], typesOf(ClientMessage));
    assert.deepEqual([...SERVER_MESSAGE_TYPES], typesOf(ServerMessage));
    assert.deepEqual([...MESSAGE_SCHEMAS.keys()].sort(), [...typesOf(ClientMessage), ...typesOf(ServerMessage)].sort());
    for (const [type, schema] of MESSAGE_SCHEMAS) {
      assert.equal(schema[Kind], 'Object', type);
      assert.equal(schema.additionalProperties, false, type);
      assert.equal((schema.properties.type as TLiteral<string>).const, type);
    }
  });

  it('an enum lists its values (oneOf) and a message is closed with a description (message)', () => {
    const report = MESSAGE_SCHEMAS.get('report')!;
    const status = report.properties.status as unknown as { properties: { state: { enum: string[] } } };
    assert.deepEqual(status.properties.state.enum, ['Applied', 'Applying', 'Failed', 'Degraded', 'Unknown']);
    assert.match(String(report.description), /agent to server/);
  });
});
