// A chart written as its own SVG file (docs/results.md embeds them) must render in a real browser as an
// image: SVG namespace, styled grid and axes, and a legend that stays inside the picture without overlap.
import fs from 'node:fs'
import path from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lineChartSvg, RUN_COLORS, standaloneSvg } from '../../src/main/engine/compare/svg'
import { launchChromium } from '../helpers/browser'
import { tempDir } from '../helpers/tmp'

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

describe('standalone SVG charts', () => {
  it('render as SVG with styles, and a right-hand legend of 12 series fits beside the plot', async () => {
    const labels = ['elle', 'elle-no-prompt', 'naive', 'er', 'ewc', 'mas', 'agem', 'logit-kd', 'pnn', 'joint', 'scratch', 'rewarm']
    const svg = standaloneSvg(
      lineChartSvg({
        title: 'AP against training FLOPs',
        xLabel: 'training FLOPs',
        yLabel: 'AP',
        xKind: 'flops',
        legend: 'right',
        series: labels.map((label, i) => ({
          label,
          color: RUN_COLORS[i % RUN_COLORS.length]!,
          dashed: i > 1,
          points: [
            [0, 2000 - i * 10],
            [1e11 * (i + 1), 900 + i * 40]
          ] as const
        }))
      })
    )
    const file = path.join(tempDir('elle-svg-'), 'chart.svg')
    fs.writeFileSync(file, svg)
    const page = await browser.newPage()
    await page.goto(`file://${file}`)
    // Runs in the page; a string, so the DOM types stay out of this (Node) project's compilation.
    const seen = (await page.evaluate(`(() => {
      const root = document.documentElement
      const box = root.viewBox.baseVal
      const legend = [...document.querySelectorAll('g.legend text')].map((t) => {
        const b = t.getBBox()
        return { text: t.textContent, x: b.x, y: b.y, right: b.x + b.width, bottom: b.y + b.height }
      })
      const axis = getComputedStyle(document.querySelector('line.axis')).stroke
      const plotRight = Math.max(...[...document.querySelectorAll('line.grid')].map((l) => Number(l.getAttribute('x2'))))
      return { namespace: root.namespaceURI, width: box.width, height: box.height, legend, axis, plotRight }
    })()`)) as {
      namespace: string
      width: number
      height: number
      legend: Array<{ text: string | null; x: number; y: number; right: number; bottom: number }>
      axis: string
      plotRight: number
    }
    await page.close()
    expect(seen.namespace).toBe('http://www.w3.org/2000/svg')
    expect(seen.axis).not.toBe('none')
    expect(seen.legend.map((l) => l.text)).toEqual(labels)
    for (const [i, l] of seen.legend.entries()) {
      expect(l.x, l.text!).toBeGreaterThan(seen.plotRight)
      expect(l.right, l.text!).toBeLessThanOrEqual(seen.width)
      expect(l.bottom, l.text!).toBeLessThanOrEqual(seen.height)
      if (i > 0) expect(l.y, l.text!).toBeGreaterThanOrEqual(seen.legend[i - 1]!.bottom - 0.5)
    }
  })
})
