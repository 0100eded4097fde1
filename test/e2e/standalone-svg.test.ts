// A chart written as its own SVG file (docs/results.md embeds them; the report inlines the same drawing) must
// render in a real browser as an image: SVG namespace, axis names, and a legend of many lines that stays inside
// the picture, above the plot, without overlap.
import fs from 'node:fs'
import path from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curveSvg, heatmapSvg } from '../../src/main/engine/compare/svg'
import { curveOption } from '../../src/shared/charts/curves'
import { runColor } from '../../src/shared/charts/palette'
import type { CurveChartInput } from '../../src/shared/charts/types'
import { launchChromium } from '../helpers/browser'
import { tempDir } from '../helpers/tmp'

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

interface Box {
  text: string | null
  x: number
  y: number
  right: number
  bottom: number
}

describe('standalone SVG charts', () => {
  it('render as SVG with axis names, and a legend of 24 lines fits above the plot without overlap', async () => {
    const methods = ['elle', 'elle-no-prompt', 'naive', 'er', 'ewc', 'mas', 'agem', 'logit-kd', 'pnn', 'joint', 'scratch', 'rewarm']
    const labels = methods.flatMap((m) => [`${m} seed 0`, `${m} seed 1`])
    const input: CurveChartInput = {
      title: 'AP against training FLOPs',
      xAxis: 'flops',
      xLabel: 'training FLOPs',
      yLabel: 'AP',
      logY: false,
      lines: labels.map((label, i) => ({
        key: `run:${i + 1}`,
        label,
        color: runColor(i + 1),
        role: 'run',
        dashed: i > 1,
        x: [0, 1e11 * (i + 1)],
        y: [2000 - i * 10, 900 + i * 40],
        points: 2
      })),
      markers: [{ x: 2e11, kind: 'growth', label: 'grew', detail: '4 layers', key: 'run:1' }]
    }
    const dir = tempDir('elle-svg-')
    const file = path.join(dir, 'chart.svg')
    fs.writeFileSync(file, curveSvg(input).file)
    const heat = path.join(dir, 'heat.svg')
    fs.writeFileSync(
      heat,
      heatmapSvg({
        title: 'm',
        rows: ['after a', 'after b'],
        cols: ['a', 'b'],
        values: [
          [10, null],
          [12, 30]
        ],
        scale: 'log',
        format: 'ppl'
      }).file
    )
    const plotTop = Number((curveOption(input, { interactive: false, width: 720 }).grid as { top: number }).top)

    const page = await browser.newPage()
    // Runs in the page; a string, so the DOM types stay out of this (Node) project's compilation.
    const measure = `(() => {
      const root = document.documentElement
      const box = root.viewBox.baseVal
      const texts = [...document.querySelectorAll('text')].map((t) => {
        const b = t.getBBox()
        const m = t.getCTM()
        return { text: t.textContent, x: b.x + m.e, y: b.y + m.f, right: b.x + m.e + b.width, bottom: b.y + m.f + b.height }
      })
      return { namespace: root.namespaceURI, width: box.width, height: box.height, texts }
    })()`
    await page.goto(`file://${file}`)
    const seen = (await page.evaluate(measure)) as { namespace: string; width: number; height: number; texts: Box[] }
    await page.goto(`file://${heat}`)
    const seenHeat = (await page.evaluate(measure)) as { namespace: string; texts: Box[] }
    await page.close()

    expect(seen.namespace).toBe('http://www.w3.org/2000/svg')
    const all = seen.texts.map((t) => t.text)
    for (const text of ['AP against training FLOPs', 'training FLOPs', 'AP', 'grew: 4 layers']) expect(all).toContain(text)
    const legend = seen.texts.filter((t) => t.text?.endsWith(' pts'))
    expect(legend.map((l) => l.text)).toEqual(labels.map((l) => `${l} · 2 pts`))
    for (const [i, l] of legend.entries()) {
      expect(l.x, l.text!).toBeGreaterThanOrEqual(0)
      expect(l.right, l.text!).toBeLessThanOrEqual(seen.width)
      expect(l.bottom, l.text!).toBeLessThanOrEqual(plotTop)
      for (const o of legend.slice(0, i)) expect(l.right <= o.x || l.x >= o.right || l.bottom <= o.y || l.y >= o.bottom, `${l.text} overlaps ${o.text}`).toBe(true)
    }
    expect(seenHeat.namespace).toBe('http://www.w3.org/2000/svg')
    expect(seenHeat.texts.map((t) => t.text)).toEqual(expect.arrayContaining(['10.0', '12.0', '30.0', 'after b', 'domain', 'stage']))
  })
})
