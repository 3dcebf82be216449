// Drives the web UI in headless Chromium like a person: log in, create a project, upload a corpus tender,
// approve the outline, start generation, watch progress reach 100 %, export and download the .docx.
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
