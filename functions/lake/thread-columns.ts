import { arrayOf, BIGINT, field, INT, type LakeField, type LakeType, STRING } from './chat-columns.ts';
import { ARCHIVES_PREFIX } from './lake-layout.ts';

/**
 * The `chat_threads` table: every Agent Chat Web API v3.6 `list_archives` entry (a chat with ONE
 * of its threads) as LiveChat sent it, one line per entry, under `archives/dt=YYYY-MM-DD/`
 * (the same file names as its `chats` parts: `v36-<slice>-part-NNNNN.json.gz`).
 *
 * Columns follow LiveChat's documented v3.6 structures (data-structures "Chats", "Threads",
 * "Users", "Events", and the payload examples in test/fixtures/livechat-public-docs): the chat,
 * its users (customer and agent fields), the thread (queue, summary, customer_visit, linked
 * thread ids) and every event type in one `events` struct (message with postback, file,
 * form / filled_form with `answer` or `answers`, rich_message, custom, system_message, system,
 * deleted-event stubs).
 *
 * Lossless by construction (functions/lake/lossless-record.ts writes and reads the records):
 * - Free-form objects are JSON text (`json` columns): `properties` (chat, thread, event),
 *   `session_fields`, `custom.content`, `text_vars`, a form field's `answer` (a string or an
 *   object), `ecommerce`, `omnichannel`. Athena reads them with `json_extract_scalar(properties,
 *   '$.rating.score')`, DuckDB with `json_extract_string(...)`.
 * - Every object has an `_extra` column: the JSON text of the fields LiveChat sent there that
 *   this schema does not declare (a field added after this was written) or that do not fit
 *   their declared type. Nothing the API sends is dropped, and the strict readers never fail
 *   on a new field.
 */
const JSON_TEXT: LakeType = { kind: 'json' };
const BOOLEAN: LakeType = { kind: 'boolean' };
const DOUBLE: LakeType = { kind: 'double' };

export const EXTRA_FIELD = '_extra';

/** An object of the API: its documented fields, then `_extra` for everything else. */
function apiObject(...fields: LakeField[]): LakeType {
  return {
    kind: 'struct',
    fields: [
      ...fields,
      field(EXTRA_FIELD, JSON_TEXT, 'Fields sent here that the table does not declare, as JSON text (lossless)'),
    ],
  };
}

const text = (name: string, comment: string) => field(name, STRING, comment);
const time = (name: string, comment: string) => field(name, STRING, `${comment} (RFC 3339, microseconds, UTC)`);
const properties = (of: string) =>
  field('properties', JSON_TEXT, `Properties of the ${of} {namespace: {name: value}}, as JSON text`);

const ACCESS = apiObject(field('group_ids', arrayOf(INT), 'Group ids'));

const GEOLOCATION = apiObject(
  text('country', 'Country name'),
  text('country_code', 'ISO 3166-1 alpha-2 code'),
  text('region', 'Region'),
  text('city', 'City'),
  text('timezone', 'IANA time zone'),
  text('latitude', 'Latitude (a string in the API)'),
  text('longitude', 'Longitude (a string in the API)'),
);

const VISIT = apiObject(
  time('started_at', 'Visit start'),
  time('ended_at', 'Visit end'),
  text('referrer', 'Referrer URL'),
  text('ip', 'Customer IP address'),
  text('user_agent', 'Browser user agent'),
  field('geolocation', GEOLOCATION, 'Where the customer was'),
  field(
    'last_pages',
    arrayOf(apiObject(time('opened_at', 'Page opened'), text('url', 'Page URL'), text('title', 'Page title'))),
    'Pages the customer saw last',
  ),
);

const STATISTICS = apiObject(
  ...[
    'chats_count',
    'threads_count',
    'visits_count',
    'page_views_count',
    'greetings_shown_count',
    'greetings_accepted_count',
    'tickets_count',
  ].map((name) => field(name, INT, `Customer statistic: ${name.replaceAll('_', ' ')}`)),
);

const CART = apiObject(
  text('store_uuid', 'Store id'),
  text('store_platform', 'Store platform, e.g. shopify'),
  field('customer_signed_in', BOOLEAN, 'Whether the customer was signed in to the store'),
  field('subtotal', DOUBLE, 'Cart subtotal'),
  field('total', DOUBLE, 'Cart total'),
  field('subtotal_usd', DOUBLE, 'Cart subtotal in USD'),
  field('total_usd', DOUBLE, 'Cart total in USD'),
  text('currency', 'Currency code'),
  field(
    'items',
    arrayOf(
      apiObject(
        field('id', BIGINT, 'Product id'),
        field('quantity', INT, 'Quantity'),
        field('variant_id', BIGINT, 'Product variant id'),
      ),
    ),
    'Cart items',
  ),
  time('last_updated_at', 'Cart last updated'),
);

const USER = apiObject(
  text('id', 'User id (an agent: its e-mail)'),
  text('type', "'customer' or 'agent'"),
  text('name', 'Display name'),
  text('email', 'E-mail'),
  field('email_verified', BOOLEAN, 'Customer: whether the e-mail is verified'),
  text('avatar', 'Avatar URL'),
  text('phone_number', 'Customer: phone number'),
  field('present', BOOLEAN, 'Whether the user is present in the chat'),
  text('visibility', "Agent: 'all' or 'agents'"),
  time('events_seen_up_to', 'Events seen up to'),
  time('created_at', 'Customer: created'),
  field('visit', VISIT, 'Customer: the visit (last_visit before v3.6)'),
  field('session_fields', JSON_TEXT, 'Customer: session fields [{key: value}, …], as JSON text'),
  field('statistics', STATISTICS, 'Customer: statistics'),
  text('__priv_lc2_customer_id', 'Customer: the REST API v2 visitor id'),
  time('agent_last_event_created_at', 'Customer: last agent event'),
  time('customer_last_event_created_at', 'Customer: last customer event'),
  field('followed', BOOLEAN, 'Customer: followed'),
  field('online', BOOLEAN, 'Customer: online'),
  text('state', 'Customer: state, e.g. browsing'),
  field('group_ids', arrayOf(INT), 'Customer: group ids'),
  field(
    'tickets',
    arrayOf(apiObject(text('ticket_id', 'Ticket id'), time('created_at', 'Ticket created'))),
    'Customer: tickets',
  ),
  field('carts', arrayOf(CART), 'Customer: store carts'),
  field('omnichannel', JSON_TEXT, 'Customer: omnichannel identities (fb_messenger, twilio, …), as JSON text'),
  field(
    'address',
    apiObject(
      text('address', 'Street address'),
      text('city', 'City'),
      text('country', 'Country'),
      text('state', 'State'),
      text('postal_code', 'Postal code'),
    ),
    'Customer: address',
  ),
);

const IMAGE_FIELDS = [
  text('name', 'File name'),
  text('url', 'File URL'),
  text('content_type', 'MIME type'),
  field('size', BIGINT, 'Bytes'),
  field('width', INT, 'Image width'),
  field('height', INT, 'Image height'),
  text('alternative_text', 'Image alternative text'),
];

const CHOICE = apiObject(text('id', 'Choice id'), text('label', 'Choice label'), field('group_id', INT, 'Group id'));

const FORM_FIELD = apiObject(
  text('type', 'Field type: name, email, question, radio, checkbox, group_chooser, …'),
  text('id', 'Field id'),
  text('label', 'Field label'),
  field('required', BOOLEAN, 'form: whether the field is required'),
  field('answer', JSON_TEXT, 'filled_form: the answer, as JSON text (a string, or {id, label, group_id?})'),
  field('answers', arrayOf(CHOICE), 'filled_form: the answers of a checkbox field'),
  field('options', arrayOf(CHOICE), 'form: the choices offered'),
);

const BUTTON = apiObject(
  text('text', 'Button text'),
  text('type', 'Button type, e.g. webview, phone, url'),
  text('value', 'Button value'),
  text('postback_id', 'Postback id'),
  field('user_ids', arrayOf(STRING), 'Users who clicked it'),
  text('webview_height', 'Webview height'),
  text('target', 'Link target'),
);

const EVENT = apiObject(
  text('id', 'Event id'),
  text('custom_id', 'Custom id'),
  text('type', 'message, file, form, filled_form, rich_message, custom, system_message or system'),
  time('created_at', 'Created'),
  text('author_id', 'Author user id (not on system_message and system)'),
  text('visibility', "'all' or 'agents'"),
  field('deleted', BOOLEAN, 'true on a deleted-event stub (id, created_at, type, author_id, custom_id only)'),
  properties('event'),
  text('text', 'message / system_message: text'),
  field(
    'postback',
    apiObject(
      text('id', 'Postback id'),
      text('thread_id', 'Thread id'),
      text('event_id', 'Event id'),
      text('type', 'Button type'),
      text('value', 'Button value'),
      field('ecommerce', JSON_TEXT, 'Ecommerce data, as JSON text'),
    ),
    'message: the button the message answers',
  ),
  ...IMAGE_FIELDS.map((imageField) => ({ ...imageField, comment: `file: ${imageField.comment}` })),
  text('thumbnail_url', 'file: thumbnail URL (images)'),
  text('thumbnail2x_url', 'file: 2x thumbnail URL (images)'),
  text('form_id', 'form / filled_form: form id'),
  text('form_type', 'form / filled_form: prechat, postchat, ask_for_email, …'),
  field('fields', arrayOf(FORM_FIELD), 'form / filled_form: fields'),
  text('template_id', 'rich_message: template, e.g. cards, quick_replies, sticker'),
  field(
    'elements',
    arrayOf(
      apiObject(
        text('title', 'Title'),
        text('subtitle', 'Subtitle'),
        field('image', apiObject(...IMAGE_FIELDS), 'Image'),
        field('buttons', arrayOf(BUTTON), 'Buttons'),
        field('ecommerce', JSON_TEXT, 'Ecommerce data, as JSON text'),
      ),
    ),
    'rich_message: elements',
  ),
  field('content', JSON_TEXT, 'custom: content (any object), as JSON text'),
  text('system_message_type', 'system_message: type, e.g. routing.assigned'),
  field('text_vars', JSON_TEXT, 'system_message: text variables {name: value}, as JSON text'),
  text('source', 'system: source, e.g. cdp'),
  text('subtype', 'system: subtype, e.g. store_order_was_created'),
  field('version', INT, 'system: version'),
  text('details', 'system: details (a JSON string in the API, kept as is)'),
);

const THREAD = apiObject(
  field('id', STRING, 'Thread id (the row of the chats table with the same id is derived from this entry)', true),
  field('active', BOOLEAN, 'Whether the thread is active'),
  field('user_ids', arrayOf(STRING), 'Users in the thread'),
  text('restricted_access', 'Why events are absent (e.g. plan limits), when they are'),
  field('events', arrayOf(EVENT), 'Events in order'),
  properties('thread'),
  field('access', ACCESS, 'Thread access'),
  field('created_at', STRING, 'Thread created (RFC 3339, microseconds, UTC)', true),
  field('tags', arrayOf(STRING), 'Tags (only if tagged)'),
  field(
    'queue',
    apiObject(
      field('position', INT, 'Position'),
      field('wait_time', INT, 'Wait, seconds'),
      time('queued_at', 'Queued'),
    ),
    'Queue, if the thread was queued',
  ),
  field('queues_duration', INT, 'Seconds spent in queues'),
  text('previous_thread_id', 'Previous thread of the chat'),
  text('next_thread_id', 'Next thread of the chat'),
  text('previous_accessible_thread_id', 'Previous thread the requester may access'),
  text('next_accessible_thread_id', 'Next thread the requester may access'),
  field(
    'summary',
    apiObject(text('status', 'Summary status'), text('text', 'Summary text'), time('updated_at', 'Summary updated')),
    'Conversation summary (v3.6)',
  ),
  field(
    'customer_visit',
    apiObject(text('ip', 'Customer IP'), text('user_agent', 'User agent'), field('geolocation', GEOLOCATION, 'Where')),
    'The customer visit of this thread (v3.6)',
  ),
);

/** Top-level fields of one `chat_threads` record: the list_archives entry, then the archiver's metadata. */
export const THREAD_SCHEMA: readonly LakeField[] = [
  field('id', STRING, 'LiveChat chat id (one chat has one row per thread)', true),
  field('users', arrayOf(USER), 'Users of the chat (customer and agents)'),
  field('thread', THREAD, 'The one thread this entry carries', true),
  properties('chat'),
  field('access', ACCESS, 'Chat access'),
  field('is_followed', BOOLEAN, 'Whether the requester follows the chat'),
  field(EXTRA_FIELD, JSON_TEXT, 'Fields sent here that the table does not declare, as JSON text (lossless)'),
  field('_run_id', STRING, 'Archiver metadata: id of the archive run that wrote this copy', true),
  field('_archived_at', STRING, 'Archiver metadata: ISO-8601 UTC time this copy was written; latest copy wins', true),
  field('_page', INT, 'Archiver metadata: part number (1-based) within the slice', true),
];

export const THREADS_TABLE = 'chat_threads';
export { ARCHIVES_PREFIX };
