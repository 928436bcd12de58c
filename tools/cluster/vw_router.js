/*
 * vw_router.js - the njs half of the VectorWise shard router (nginx does the
 * rest: upstream pools, keep-alive, timeouts, TLS, limits). gen-nginx.sh
 * writes the nginx.conf that imports it; README.md "More than one machine"
 * is the user's documentation.
 *
 * Written for njs 0.7 (Debian's libnginx-mod-http-js): no for...of, no
 * destructuring, no BigInt. Two rules run through the file:
 *
 *  - An id is never a JavaScript number. Ids go up to 2^64 - 1 and a double
 *    holds integers exactly only to 2^53, so ids stay decimal strings from
 *    the bytes a shard or client sent to the bytes the router sends on, and
 *    the shard hash works on two unsigned 32-bit halves (Math.imul and
 *    16-bit limbs), bit for bit the library's vw_shard_of (lib/shard.c).
 *  - Errors keep vw-serve's shapes ({"error": msg, "detail": ...}); the
 *    router adds members, never changes the ones vw-serve defines.
 *
 * A shard is "unavailable" when nginx itself answered the subrequest 502 or
 * 504 (no connection, no answer in time): vw-serve never sends those. Any
 * other status is the shard's answer and is passed on.
 */

var TWO32 = 4294967296;

/* ------------------------------------------------------------ the shard hash */

/* "0".."18446744073709551615" (canonical decimal, as vw-serve requires) to
 * [hi, lo]; null for anything else. */
function parseId(s) {
    if (typeof s !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(s))
        return null;
    var hi = 0, lo = 0;
    for (var i = 0; i < s.length; i++) {
        var l = lo * 10 + (s.charCodeAt(i) - 48); /* < 2^36: exact */
        var carry = Math.floor(l / TWO32);
        lo = l - carry * TWO32;
        hi = hi * 10 + carry;
        if (hi >= TWO32)
            return null;
    }
    return [hi, lo];
}

/* The low 64 bits of a * b, all as [hi, lo] halves. Math.imul gives the low
 * 32 bits of a 32x32 product; its high 32 bits come from 16-bit limbs,
 * whose products and sums stay far below 2^53. */
function mul64(ah, al, bh, bl) {
    var a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
    var mid = a1 * b0 + a0 * b1 + ((a0 * b0) >>> 16);
    var high = a1 * b1 + Math.floor(mid / 65536); /* high half of al * bl */
    return [(high + Math.imul(al, bh) + Math.imul(ah, bl)) >>> 0, Math.imul(al, bl) >>> 0];
}

/* x ^= x >> s for 0 < s < 32. */
function xorShr(x, s) {
    return [(x[0] ^ (x[0] >>> s)) >>> 0, (x[1] ^ ((x[1] >>> s) | (x[0] << (32 - s)))) >>> 0];
}

/* The splitmix64 finalizer, as lib/shard.c. */
function mix64(x) {
    x = xorShr(x, 30);
    x = mul64(x[0], x[1], 0xbf58476d, 0x1ce4e5b9);
    x = xorShr(x, 27);
    x = mul64(x[0], x[1], 0x94d049bb, 0x133111eb);
    return xorShr(x, 31);
}

/* Jump consistent hashing (Lamping and Veach 2014): the paper's LCG
 * key = key * 2862933555777941757 + 1 and its double arithmetic, which
 * IEEE doubles give identically in C and here. */
function jump(x, buckets) {
    var b = -1, j = 0, hi = x[0], lo = x[1];
    while (j < buckets) {
        b = j;
        var k = mul64(hi, lo, 0x27bb2ee6, 0x87b0b0fd);
        lo = (k[1] + 1) >>> 0;
        hi = lo === 0 ? (k[0] + 1) >>> 0 : k[0];
        j = Math.floor((b + 1) * (2147483648 / ((hi >>> 1) + 1)));
    }
    return b;
}

/* vw_shard_of(id, n) for a parsed id. */
function shardOf(id, n) {
    return n <= 1 ? 0 : jump(mix64(id), n);
}

/* ------------------------------------------------------------ answers */

function shardCount(r) {
    return parseInt(r.variables.vw_shards, 10);
}

function partialAllowed(r) {
    return r.variables.vw_partial === 'on';
}

function send(r, status, body, retry) {
    r.headersOut['Content-Type'] = 'application/json';
    if (retry)
        r.headersOut['Retry-After'] = '1';
    r.return(status, body);
}

/* vw-serve's error body ({"error": msg, "detail": msg} for any status but
 * 422) with the router's own members appended (`extra`: JSON text that
 * starts with a comma, or ''). */
function sendError(r, status, msg, extra) {
    var m = JSON.stringify(msg);
    send(r, status, '{"error":' + m + ',"detail":' + m + extra + '}', status === 503);
}

/* A shard's answer passed on as it is. */
function passOn(r, reply) {
    send(r, reply.status, reply.responseText || '', reply.status === 503);
}

function isDown(reply) {
    return reply.status === 502 || reply.status === 504;
}

/* The same request to every shard, in parallel; resolves to the replies in
 * shard order. */
function fanOut(r, path, method, body) {
    var n = shardCount(r), all = [];
    for (var i = 0; i < n; i++) {
        var opts = {method: method};
        if (body !== undefined)
            opts.body = body;
        all.push(r.subrequest('/_vw/' + i + path, opts));
    }
    return Promise.all(all);
}

/* Sorts the replies out: the first one a live shard answered with an error,
 * the shards that are down, the ones that answered 200. */
function triage(replies) {
    var t = {failed: null, down: [], ok: []};
    for (var i = 0; i < replies.length; i++) {
        if (replies[i].status === 200)
            t.ok.push(i);
        else if (isDown(replies[i]))
            t.down.push(i);
        else if (t.failed === null)
            t.failed = replies[i];
    }
    return t;
}

function downMessage(down, n, what) {
    return 'shard' + (down.length > 1 ? 's ' : ' ') + down.join(', ') + ' of ' + n +
           (down.length > 1 ? ' are' : ' is') + ' unavailable: ' + what;
}

/* Answers for a fan-out that some shards missed, unless partial answers are
 * configured (then returns false and the caller merges what came). */
function refuseIncomplete(r, t, what) {
    if (t.failed !== null) {
        passOn(r, t.failed);
        return true;
    }
    if (t.down.length === 0 || (partialAllowed(r) && t.ok.length > 0))
        return false;
    sendError(r, 503, downMessage(t.down, shardCount(r), what),
              ',"missing_shards":[' + t.down.join(',') + ']');
    return true;
}

function partialMembers(t) {
    return t.down.length ? ',"partial":true,"missing_shards":[' + t.down.join(',') + ']' : '';
}

/* ------------------------------------------------------------ search */

/* A vw-serve search answer with every number of "indices" and "distances"
 * turned into a string before JSON.parse, so ids above 2^53 and the
 * distances' own digits survive unchanged. */
function parseResults(text) {
    return JSON.parse(text.replace(/"(indices|distances)":\[([^\]]*)\]/g, function(m, key, list) {
        return '"' + key + '":[' + list.replace(/[^,\s]+/g, '"$&"') + ']';
    }));
}

/* Canonical decimal ids: the shorter is smaller, else the text decides. */
function compareIds(a, b) {
    return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/* The k nearest of the shards' lists for one query: by distance, equal
 * distances by id, the way one index over all of them ranks. */
function mergeOne(lists, k) {
    var all = [];
    for (var s = 0; s < lists.length; s++) {
        var l = lists[s];
        for (var i = 0; i < l.indices.length; i++)
            all.push({id: l.indices[i], text: l.distances[i], d: parseFloat(l.distances[i])});
    }
    all.sort(function(a, b) {
        return a.d - b.d || compareIds(a.id, b.id);
    });
    var ids = [], ds = [];
    for (var j = 0; j < all.length && j < k; j++) {
        ids.push(all[j].id);
        ds.push(all[j].text);
    }
    return '{"indices":[' + ids.join(',') + '],"distances":[' + ds.join(',') + ']}';
}

/* k as vw-serve reads it (default 10). The body holds no ids (a filter's
 * ids are never looked at), so JSON.parse is safe; a body it cannot parse
 * has already been refused by every shard. */
function requestedK(body) {
    try {
        var k = JSON.parse(body).k;
        return typeof k === 'number' ? k : 10;
    } catch (e) {
        return 10;
    }
}

function mergeSearch(replies, ok, batch, k) {
    var parsed = [];
    for (var i = 0; i < ok.length; i++)
        parsed.push(parseResults(replies[ok[i]].responseText));
    if (!batch)
        return mergeOne(parsed, k).slice(0, -1);
    var out = [];
    for (var q = 0; q < parsed[0].results.length; q++) {
        var lists = [];
        for (var s = 0; s < parsed.length; s++)
            lists.push(parsed[s].results[q]);
        out.push(mergeOne(lists, k));
    }
    return '{"results":[' + out.join(',') + ']';
}

/* POST /search and /search/batch: the request as it came to every shard
 * (each asked for k, so the global k nearest are among their answers),
 * merged. Other methods go to shard 0, which answers 405 as vw-serve does. */
async function search(r) {
    if (r.method !== 'POST') {
        r.internalRedirect('/_vw/0' + r.uri);
        return;
    }
    var body = r.requestText || '';
    var replies = await fanOut(r, r.uri, 'POST', body);
    var t = triage(replies);
    if (refuseIncomplete(r, t, 'the search was not answered'))
        return;
    var merged = mergeSearch(replies, t.ok, r.uri === '/search/batch', requestedK(body));
    send(r, 200, merged + partialMembers(t) + '}');
}

/* ------------------------------------------------------------ JSON text */

/* Raw member and element texts of JSON that JSON.parse has accepted (so
 * strings are terminated and nesting balanced): the router forwards the
 * client's own bytes and reads ids as text, never through numbers. */

function isSpace(c) {
    return c === 32 || c === 9 || c === 10 || c === 13;
}

function skipSpace(t, i) {
    while (i < t.length && isSpace(t.charCodeAt(i)))
        i++;
    return i;
}

/* Just past the string whose opening quote is at i. */
function stringEnd(t, i) {
    for (i++; i < t.length && t.charCodeAt(i) !== 34; i++)
        if (t.charCodeAt(i) === 92)
            i++;
    return i + 1;
}

/* Just past the value that starts at i. */
function valueEnd(t, i) {
    var depth = 0;
    for (; i < t.length; i++) {
        var c = t.charCodeAt(i);
        if (c === 34) {
            i = stringEnd(t, i) - 1;
            if (depth === 0)
                return i + 1;
        } else if (c === 123 || c === 91) {
            depth++;
        } else if (c === 125 || c === 93) {
            if (--depth <= 0)
                return depth === 0 ? i + 1 : i; /* < 0: the end of a scalar */
        } else if (depth === 0 && (c === 44 || isSpace(c))) {
            return i;
        }
    }
    return i;
}

/* The members of the object whose '{' is at i: [{key, start, end}], the
 * span of each raw value, in the text's order (duplicates kept). */
function members(t, i) {
    var out = [];
    for (i = skipSpace(t, i + 1); t.charCodeAt(i) === 34;) {
        var keyEnd = stringEnd(t, i);
        var v = skipSpace(t, skipSpace(t, keyEnd) + 1); /* past the ':' */
        var e = valueEnd(t, v);
        out.push({key: JSON.parse(t.slice(i, keyEnd)), start: v, end: e});
        i = skipSpace(t, e);
        if (t.charCodeAt(i) !== 44)
            break;
        i = skipSpace(t, i + 1);
    }
    return out;
}

/* The raw texts of the elements of the array whose '[' is at i. */
function elements(t, i) {
    var out = [];
    i = skipSpace(t, i + 1);
    while (i < t.length && t.charCodeAt(i) !== 93) {
        var e = valueEnd(t, i);
        out.push(t.slice(i, e));
        i = skipSpace(t, e);
        if (t.charCodeAt(i) !== 44)
            break;
        i = skipSpace(t, i + 1);
    }
    return out;
}

/* JSON.parse that answers null instead of throwing. */
function parseOrNull(text) {
    try {
        return JSON.parse(text);
    } catch (e) {
        return null;
    }
}

function isObject(o) {
    return o !== null && typeof o === 'object' && !Array.isArray(o);
}

/* ------------------------------------------------------------ JSON writes */

/* The members a write body may have; attributes are parallel to the ids. */
var WRITE_MEMBERS = ['ids', 'vectors', 'attributes'];

/* The raw elements of each array member of a write body, or null when a
 * member is not one of WRITE_MEMBERS, comes twice or is not an array. */
function writeArrays(text) {
    var m = members(text, skipSpace(text, 0)), raw = {};
    for (var i = 0; i < m.length; i++) {
        if (WRITE_MEMBERS.indexOf(m[i].key) < 0 || raw[m[i].key] ||
            text.charCodeAt(m[i].start) !== 91)
            return null;
        raw[m[i].key] = elements(text, m[i].start);
    }
    return raw.ids && raw.vectors ? raw : null;
}

function isNumber(x) {
    return typeof x === 'number';
}

/* The parts of a POST /vectors body, one per shard that gets ids, or null
 * when the body is certainly one vw-serve refuses (then shard 0 answers it
 * with its exact 422). Every test here is one vw-serve makes too, so a body
 * it would accept is never refused: not JSON, members other than ids,
 * vectors and attributes, counts that differ, none or more than 10,000, an
 * id that is not an integer in 0..2^64-1 or appears twice, a vector that is
 * not an array of numbers as long as the first. Attributes are not looked
 * into: each shard judges its own. */
function splitWrite(text, n) {
    var o = parseOrNull(text);
    var w = isObject(o) ? writeArrays(text) : null;
    if (w === null || w.ids.length !== w.vectors.length || w.ids.length === 0 ||
        w.ids.length > 10000 || (w.attributes && w.attributes.length !== w.ids.length))
        return null;
    var parts = [], seen = {};
    for (var s = 0; s < n; s++)
        parts.push({ids: [], vecs: [], attrs: [], pos: []});
    for (var i = 0; i < w.ids.length; i++) {
        var id = parseId(w.ids[i]);
        var v = o.vectors[i];
        if (id === null || seen[w.ids[i]] || !Array.isArray(v) ||
            v.length !== o.vectors[0].length || !v.every(isNumber))
            return null;
        seen[w.ids[i]] = true;
        var p = parts[shardOf(id, n)];
        p.ids.push(w.ids[i]);
        p.vecs.push(w.vectors[i]);
        if (w.attributes)
            p.attrs.push(w.attributes[i]);
        p.pos.push(i);
    }
    return parts;
}

function writeBody(p) {
    return '{"ids":[' + p.ids.join(',') + '],"vectors":[' + p.vecs.join(',') + ']' +
           (p.attrs.length ? ',"attributes":[' + p.attrs.join(',') + ']' : '') + '}';
}

/* A shard's 422 about its part, with positions in loc turned back into the
 * client's: ["body", "vectors", 3] of shard 2's part is the client's
 * vector at part.pos[3]. */
function clientError(reply, part) {
    var e = parseOrNull(reply.responseText);
    if (!isObject(e))
        return null;
    if (reply.status === 422 && Array.isArray(e.detail)) {
        for (var i = 0; i < e.detail.length; i++) {
            var loc = e.detail[i].loc;
            if (Array.isArray(loc) && loc.length > 2 && typeof loc[2] === 'number' &&
                WRITE_MEMBERS.indexOf(loc[1]) >= 0 && loc[2] < part.pos.length)
                loc[2] = part.pos[loc[2]];
        }
    }
    return e;
}

/* The router's members of a failed write: exactly which ids are durable
 * (acknowledged by their shard) and which are not, in the client's order. */
function durabilityMembers(entries, down) {
    var durable = [], failed = [];
    for (var k = 0; k < entries.length; k++)
        (entries[k].ok ? durable : failed).push(entries[k].id);
    return {
        durable: durable.length,
        total: entries.length,
        text: ',"upserted":' + durable.length + ',"durable_ids":[' + durable.join(',') +
                  '],"failed_ids":[' + failed.join(',') + '],"missing_shards":[' + down.join(',') +
                  ']'
    };
}

/* The answer when not every part was acknowledged: `refused` (the reply
 * of the shard whose refusal is reported, with its error already mapped to
 * the client's body in `error`, or null) or else 503 naming the shards
 * that were unavailable, plus the durability members. A refused part was
 * not applied past what its shard acknowledged; an unavailable shard's part
 * may or may not have been, as with any write whose answer never came: send
 * the failed ids again (an upsert applied twice gives the same result). */
function answerFailedWrite(r, refused, error, down, d) {
    if (refused !== null && error !== null) {
        var body = JSON.stringify(error);
        send(r, refused.status, body.slice(0, -1) + d.text + '}', refused.status === 503);
    } else if (refused !== null) {
        passOn(r, refused);
    } else {
        sendError(r, 503,
                  downMessage(down, shardCount(r),
                              d.durable + ' of ' + d.total +
                                  ' vectors are durable (durable_ids); ' +
                                  'send failed_ids again'),
                  d.text);
    }
}

function answerPartialWrite(r, parts, sent, replies) {
    var entries = [], down = [], refused = null, refusedPart = null;
    for (var i = 0; i < sent.length; i++) {
        var p = parts[sent[i]], reply = replies[i];
        for (var j = 0; j < p.ids.length; j++)
            entries[p.pos[j]] = {id: p.ids[j], ok: reply.status === 200};
        if (reply.status === 200)
            continue;
        if (isDown(reply))
            down.push(sent[i]);
        else if (refused === null) {
            refused = reply;
            refusedPart = p;
        }
    }
    answerFailedWrite(r, refused, refused ? clientError(refused, refusedPart) : null, down,
                      durabilityMembers(entries, down));
}

/* Each part to its shard, all in parallel; the replies in `sent` order. */
function sendParts(r, parts, body) {
    var sent = [], all = [];
    for (var s = 0; s < parts.length; s++) {
        if (parts[s].ids.length === 0)
            continue;
        sent.push(s);
        all.push(r.subrequest('/_vw/' + s + '/vectors', {method: 'POST', body: body(parts[s])}));
    }
    return Promise.all(all).then(function(replies) {
        return {sent: sent, replies: replies};
    });
}

function allAcknowledged(replies) {
    for (var i = 0; i < replies.length; i++)
        if (replies[i].status !== 200)
            return false;
    return true;
}

/* ------------------------------------------------------------ bulk loads */

var BLANK = /^[ \t\r]*$/;
/* A line that starts {"id": N, (the way clients write one): N without a parse. */
var LEADING_ID = /^[ \t\r]*\{[ \t\r]*"id"[ \t\r]*:[ \t\r]*([0-9]+)[ \t\r]*[,}]/;

/* The id of an NDJSON record as its decimal text, or null when it has none
 * the router can read (not a JSON object, no "id", not an integer in
 * 0..2^64-1: vw-serve refuses such a line too). */
function lineId(line) {
    var m = LEADING_ID.exec(line);
    if (m)
        return parseId(m[1]) ? m[1] : null;
    if (!isObject(parseOrNull(line)))
        return null;
    var ms = members(line, skipSpace(line, 0));
    for (var i = 0; i < ms.length; i++)
        if (ms[i].key === 'id') {
            var token = line.slice(ms[i].start, ms[i].end);
            return parseId(token) ? token : null;
        }
    return null;
}

/* The records of an NDJSON body by shard, each line unchanged (so members
 * the router does not know, as "attributes", reach vw-serve as sent), with
 * its record number as vw-serve counts them (blank lines are none);
 * {bad: record} for the first record without a readable id. */
function splitBulk(text, n) {
    var lines = text.split('\n'), parts = [], record = 0;
    for (var s = 0; s < n; s++)
        parts.push({lines: [], ids: [], pos: []});
    for (var i = 0; i < lines.length; i++) {
        if (BLANK.test(lines[i]))
            continue;
        var id = lineId(lines[i]);
        if (id === null)
            return {bad: record + 1};
        var p = parts[shardOf(parseId(id), n)];
        p.lines.push(lines[i]);
        p.ids.push(id);
        p.pos.push(record++);
    }
    return {parts: parts, records: record};
}

function bulkBody(p) {
    return p.lines.join('\n') + '\n';
}

/* How many leading records of its part a shard made durable: all on 200,
 * its bulk error's "written" on a refusal, none from a shard that did not
 * answer or refused the body before reading it. */
function bulkWritten(reply, p) {
    if (reply.status === 200)
        return p.ids.length;
    var e = isDown(reply) ? null : parseOrNull(reply.responseText);
    return isObject(e) && typeof e.written === 'number' ? e.written : 0;
}

/* A shard's bulk error with "record j" of its part made the client's record
 * number; vw-serve's "written"/"durable" (a prefix of the shard's part) are
 * replaced by the durability members, which cover the whole body. */
function bulkError(reply, p) {
    var e = parseOrNull(reply.responseText);
    if (!isObject(e))
        return null;
    var renumber = function(msg) {
        return typeof msg !== 'string' ? msg : msg.replace(/^record ([0-9]+):/, function(m, j) {
            var k = parseInt(j, 10) - 1;
            return k >= 0 && k < p.pos.length ? 'record ' + (p.pos[k] + 1) + ':' : m;
        });
    };
    e.error = renumber(e.error);
    if (Array.isArray(e.detail))
        for (var i = 0; i < e.detail.length; i++)
            e.detail[i].msg = renumber(e.detail[i].msg);
    else
        e.detail = renumber(e.detail);
    delete e.written;
    delete e.durable;
    return e;
}

/* Reported refusal: the shard's whose first record not written comes first
 * in the client's body. */
function answerPartialBulk(r, parts, sent, replies) {
    var entries = [], down = [], refused = null, refusedPart = null, first = Infinity;
    for (var i = 0; i < sent.length; i++) {
        var p = parts[sent[i]], reply = replies[i], w = bulkWritten(reply, p);
        for (var j = 0; j < p.ids.length; j++)
            entries[p.pos[j]] = {id: p.ids[j], ok: j < w};
        if (reply.status === 200)
            continue;
        if (isDown(reply))
            down.push(sent[i]);
        else if (p.pos[Math.min(w, p.pos.length - 1)] < first) {
            first = p.pos[Math.min(w, p.pos.length - 1)];
            refused = reply;
            refusedPart = p;
        }
    }
    answerFailedWrite(r, refused, refused ? bulkError(refused, refusedPart) : null, down,
                      durabilityMembers(entries, down));
}

/* The 422 of a record the router cannot route, in vw-serve's bulk shape:
 * nothing of the body was sent to any shard. */
function refuseRecord(r, record) {
    var msg = 'record ' + record + ': a line is {"id": N, "vector": [...]} with N an ' +
              'integer in 0..18446744073709551615 (nothing of this body was written)';
    send(r, 422,
         '{"error":' + JSON.stringify(msg) +
             ',"detail":[{"type":"value_error","loc":["body","id"],"msg":' + JSON.stringify(msg) +
             '}],"upserted":0,"durable_ids":[],"failed_ids":[]' +
             ',"missing_shards":[]}');
}

/* POST /vectors with an NDJSON body: split by shard line by line, the
 * parts in parallel, answered when every part is durable. A record without
 * a readable id refuses the body whole before anything is sent. */
async function bulkUpsert(r) {
    var split = splitBulk(r.requestText || '', shardCount(r));
    if (split.bad) {
        refuseRecord(r, split.bad);
        return;
    }
    if (split.records === 0) { /* vw-serve's own answer to an empty load */
        r.internalRedirect('/_vw/0/vectors');
        return;
    }
    var res = await sendParts(r, split.parts, bulkBody);
    if (allAcknowledged(res.replies))
        send(r, 200, '{"upserted":' + split.records + '}');
    else
        answerPartialBulk(r, split.parts, res.sent, res.replies);
}

/* The body's length in bytes. */
function bodyBytes(r) {
    var b = r.requestBuffer;
    return b ? b.length : 0;
}

/* POST /vectors: each shard gets its ids' part, all in parallel; answered
 * once every part is durable (vw-serve acknowledges only then). The media
 * types are vw-serve's: exactly application/x-ndjson or application/x-npy
 * (anything else is read as JSON, as vw-serve does). */
async function upsert(r) {
    var type = (r.headersIn['Content-Type'] || '').trim().toLowerCase();
    if (r.method === 'POST' && type === 'application/x-ndjson') {
        await bulkUpsert(r);
        return;
    }
    if (r.method === 'POST' && type === 'application/x-npy') {
        sendError(r, 415,
                  'the router does not split .npy bodies: send the rows as NDJSON ' +
                      '(Content-Type: application/x-ndjson, one {"id": N, "vector": ' +
                      '[...]} per line), which it splits by shard',
                  '');
        return;
    }
    var max = parseInt(r.variables.vw_max_body, 10);
    if (r.method === 'POST' && bodyBytes(r) > max) {
        sendError(r, 413,
                  'request body of ' + bodyBytes(r) + ' bytes is larger than the ' +
                      'router\'s --max-body (' + max + ' bytes); load vectors in bulk ' +
                      'as application/x-ndjson (up to its --max-bulk-body)',
                  '');
        return;
    }
    var parts = r.method === 'POST' ? splitWrite(r.requestText || '', shardCount(r)) : null;
    if (parts === null) {
        r.internalRedirect('/_vw/0/vectors');
        return;
    }
    var res = await sendParts(r, parts, writeBody), total = 0;
    for (var s = 0; s < parts.length; s++)
        total += parts[s].ids.length;
    if (allAcknowledged(res.replies))
        send(r, 200, '{"upserted":' + total + '}');
    else
        answerPartialWrite(r, parts, res.sent, res.replies);
}

/* js_set $vw_id_upstream: the upstream of GET/DELETE /vectors/{id}. An id
 * vw-serve would refuse goes to shard 0, which answers its 422. */
function idUpstream(r) {
    var id = parseId(r.uri.slice('/vectors/'.length));
    return 'vw_shard_' + (id === null ? 0 : shardOf(id, shardCount(r)));
}

/* ------------------------------------------------------------ the rest */

/* GET /: {"status":"ok","count":sum,"dim":D,"shards":N}. */
async function health(r) {
    if (r.method !== 'GET' && r.method !== 'HEAD') {
        r.internalRedirect('/_vw/0' + r.uri);
        return;
    }
    var replies = await fanOut(r, '/', 'GET');
    var t = triage(replies);
    if (refuseIncomplete(r, t, 'the cluster cannot answer every search'))
        return;
    var count = 0, dim = 0;
    for (var i = 0; i < t.ok.length; i++) {
        var h = JSON.parse(replies[t.ok[i]].responseText);
        count += h.count;
        dim = h.dim;
    }
    send(r, 200,
         '{"status":"ok","count":' + count + ',"dim":' + dim + ',"shards":' + replies.length +
             partialMembers(t) + '}');
}

/* The /stats members that add up over shards; the others (dim, metric,
 * storage, parameters) are the first live shard's. */
var SUMMED = [
    'count', 'removed', 'free_slots', 'memory_bytes', 'mapped_bytes', 'file_bytes', 'requests',
    'errors', 'queries', 'timeouts', 'rejected', 'in_flight', 'connections', 'connections_accepted'
];
var COPIED = [
    'dim', 'metric', 'storage', 'bytes_per_vector', 'float32_kept', 'M', 'ef_construction',
    'ef_search', 'version'
];

/* GET /stats: sums, the shared parameters, and each shard's own /stats as
 * it sent it. Answered 200 with a shard down (monitoring must see which). */
async function stats(r) {
    var replies = await fanOut(r, '/stats', 'GET');
    var sums = {}, first = null, per = [], missing = [];
    for (var i = 0; i < replies.length; i++) {
        if (replies[i].status !== 200) {
            missing.push(i);
            per.push('{"shard":' + i + ',"status":' + replies[i].status + '}');
            continue;
        }
        var s = JSON.parse(replies[i].responseText);
        if (first === null)
            first = s;
        for (var j = 0; j < SUMMED.length; j++)
            sums[SUMMED[j]] = (sums[SUMMED[j]] || 0) + (s[SUMMED[j]] || 0);
        per.push('{"shard":' + i + ',"status":200,"stats":' + replies[i].responseText + '}');
    }
    /* built in this order: njs objects do not keep the order of insertion */
    var out = ['"shards":' + replies.length, '"missing_shards":[' + missing.join(',') + ']'];
    for (var k = 0; first !== null && k < COPIED.length; k++)
        out.push(JSON.stringify(COPIED[k]) + ':' + JSON.stringify(first[COPIED[k]]));
    for (var m = 0; m < SUMMED.length; m++)
        out.push(JSON.stringify(SUMMED[m]) + ':' + (sums[SUMMED[m]] || 0));
    send(r, 200, '{' + out.join(',') + ',"per_shard":[' + per.join(',') + ']}');
}

/* One shard's exposition with shard="i" added to every sample, grouped by
 * family (the # HELP/# TYPE lines start one). */
function addMetrics(families, order, text, shard) {
    var lines = text.split('\n'), fam = null;
    for (var i = 0; i < lines.length; i++) {
        var line = lines[i];
        if (line === '')
            continue;
        var head = /^# (HELP|TYPE) (\S+)/.exec(line);
        if (head) {
            fam = head[2];
            if (!families[fam]) {
                families[fam] = {head: [], samples: []};
                order.push(fam);
            }
            if (families[fam].head.length < 2 && families[fam].samples.length === 0)
                families[fam].head.push(line);
            continue;
        }
        if (line.charAt(0) === '#' || fam === null)
            continue;
        var label = 'shard="' + shard + '"';
        var sp = line.search(/[{ ]/);
        var out = line.charAt(sp) === '{'
                      ? line.slice(0, sp + 1) + label + (line.charAt(sp + 1) === '}' ? '' : ',') +
                            line.slice(sp + 1)
                      : line.slice(0, sp) + '{' + label + '}' + line.slice(sp);
        families[fam].samples.push(out);
    }
}

/* GET /metrics: every shard's metrics with a shard label, and
 * vw_router_shard_up{shard} (1 when the shard answered). */
async function metrics(r) {
    var replies = await fanOut(r, '/metrics', 'GET');
    var families = {}, order = [], up = [];
    for (var i = 0; i < replies.length; i++) {
        var ok = replies[i].status === 200;
        up.push('vw_router_shard_up{shard="' + i + '"} ' + (ok ? 1 : 0));
        if (ok)
            addMetrics(families, order, replies[i].responseText, i);
    }
    var out = [
        '# HELP vw_router_shard_up 1 when the shard answered this scrape, else 0',
        '# TYPE vw_router_shard_up gauge'
    ].concat(up);
    for (var f = 0; f < order.length; f++)
        out = out.concat(families[order[f]].head, families[order[f]].samples);
    r.headersOut['Content-Type'] = 'text/plain; version=0.0.4; charset=utf-8';
    r.return(200, out.join('\n') + '\n');
}

/* POST /snapshot: every shard writes one; answered when all have. */
async function snapshot(r) {
    if (r.method !== 'POST') {
        r.internalRedirect('/_vw/0' + r.uri);
        return;
    }
    var replies = await fanOut(r, '/snapshot', 'POST', '');
    var t = triage(replies);
    if (refuseIncomplete(r, t, 'no snapshot was taken there'))
        return;
    send(r, 200, '{"snapshot":"written","shards":' + t.ok.length + '}');
}

/* GET /shard?id=X: {"id":X,"shard":S,"shards":N}, the shard that holds id X. */
function shard(r) {
    var text = r.args.id, id = parseId(text);
    if (id === null) {
        var msg = 'id must be an integer in 0..18446744073709551615';
        send(r, 422,
             '{"error":' + JSON.stringify(msg) +
                 ',"detail":[{"type":"int_parsing","loc":["query","id"],"msg":' +
                 JSON.stringify(msg) + '}]}');
        return;
    }
    var n = shardCount(r);
    send(r, 200, '{"id":' + text + ',"shard":' + shardOf(id, n) + ',"shards":' + n + '}');
}

export default {search, upsert, idUpstream, health, stats, metrics, snapshot, shard};
