// A minimal zip writer (stored entries, no compression): enough to build the
// mini program packages the test serves, without a dependency.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** `files`: {path: string | Buffer}. Returns the zip as a Buffer. */
export function zip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  // 2024-01-01 12:00:00 in MS-DOS form.
  const dosTime = (12 << 11) | (0 << 5) | 0;
  const dosDate = ((2024 - 1980) << 9) | (1 << 5) | 1;
  for (const [path, content] of Object.entries(files)) {
    const name = Buffer.from(path, "utf8");
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(0o100644 * 0x10000, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** A small valid mini program: two pages. */
export function miniProgram(title) {
  const page = (p) => ({
    [`${p}.js`]: `Page({ data: { title: ${JSON.stringify(title)} } })\n`,
    [`${p}.wxml`]: `<view class="page"><text>{{title}}</text></view>\n`,
    [`${p}.wxss`]: ".page { padding: 24rpx; }\n",
  });
  return zip({
    "app.json": JSON.stringify({ pages: ["pages/index/index", "pages/about/about"], window: { navigationBarTitleText: title } }, null, 2),
    "app.js": "App({})\n",
    ...page("pages/index/index"),
    ...page("pages/about/about"),
  });
}

/** A package whose app.json names a page that is not in it. */
export function brokenMiniProgram() {
  return zip({
    "app.json": JSON.stringify({ pages: ["pages/index/index", "pages/missing/missing"] }),
    "app.js": "App({})\n",
    "pages/index/index.js": "Page({})\n",
    "pages/index/index.wxml": "<view/>\n",
  });
}
