// Drives the web UI in headless Chromium like a person: log in, create a project, upload a corpus tender,
// open an item's source passage, rename and move an outline section, approve the outline, start generation,
// watch progress reach 100 %, export and download the .docx.
// Usage: node flow.js BASE_URL EMAIL PASSWORD TENDER_FILE DOWNLOAD_DIR
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const [base, email, password, tender, downloadDir] = process.argv.slice(2);

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage({ acceptDownloads: true });
  page.setDefaultTimeout(60000);
  page.on('pageerror', e => { console.error('page error:', e.message); process.exitCode = 1; });
  try {
    await page.goto(base + '/');
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('#login-button');
    await page.waitForSelector('#app:not(.hidden)');

    await page.fill('#project-name', '浏览器测试项目');
    await page.click('#new-project button');
    await page.waitForSelector('#project:not(.hidden)');

    await page.setInputFiles('#file', tender);
    await page.click('#upload-button');
    await page.waitForFunction(() => /已识别 \d+ 项要求/.test(document.querySelector('#upload-result').textContent));
    await page.waitForFunction(() => document.querySelectorAll('#ledger tbody tr').length > 0);
    await page.waitForFunction(() => document.querySelectorAll('#outline tbody tr').length > 0);

    // Ledger review: the jump from an item to its tender passage, the item's block highlighted.
    const itemText = await page.$eval('#ledger tbody a.source-link', a => a.title);
    await page.click('#ledger tbody a.source-link');
    await page.waitForSelector('#source-blocks blockquote.anchored');
    const squeeze = s => s.replace(/\s+/g, '');
    const anchored = await page.$eval('#source-blocks blockquote.anchored', b => b.textContent);
    if (!squeeze(anchored).includes(squeeze(itemText).slice(0, 24)))
      throw new Error(`source passage ${JSON.stringify(anchored)} lacks the item ${JSON.stringify(itemText)}`);

    // Outline review: rename the first section, move it down one place, save as a new version.
    const versionOf = async () => Number((await page.textContent('#outline-info')).match(/版本 (\d+)/)[1]);
    const version = await versionOf();
    await page.fill('#outline input.outline-title >> nth=0', '浏览器改名的章节');
    await page.click('#outline button.move[data-dir="1"] >> nth=0');
    await page.click('#save-outline');
    await page.waitForFunction(v => document.querySelector('#outline-info').textContent.includes(`版本 ${v + 1}`), version);
    const titles = await page.$$eval('#outline input.outline-title', inputs => inputs.map(i => i.value));
    if (titles[0] === '浏览器改名的章节' || !titles.includes('浏览器改名的章节'))
      throw new Error(`outline edit not saved: ${JSON.stringify(titles.slice(0, 5))}`);

    await page.click('#approve-outline');
    await page.waitForFunction(() => document.querySelector('#outline-info').textContent.includes('已审批'));
    await page.click('#start-generation');
    await page.waitForFunction(() => document.querySelector('#progress-text').textContent.includes('（100%）'), null, { timeout: 180000 });
    const rows = await page.$$eval('#sections tbody tr', trs => trs.length);
    if (rows === 0) throw new Error('no sections listed');

    await page.click('#export');
    await page.waitForSelector('#download:not(.hidden)');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const target = path.join(downloadDir, 'proposal.docx');
    await download.saveAs(target);
    const head = fs.readFileSync(target).subarray(0, 2).toString();
    if (head !== 'PK') throw new Error('downloaded file is not a .docx');
    console.log(`browser flow ok: ${rows} sections, ${fs.statSync(target).size} bytes downloaded`);
  } catch (e) {
    console.error('browser flow failed:', e.message);
    await page.screenshot({ path: path.join(downloadDir, 'failure.png') }).catch(() => {});
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
